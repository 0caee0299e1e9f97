"""Real sources: agents that publish this machine (psutil) or its GPUs (NVML) per the wire contract."""
