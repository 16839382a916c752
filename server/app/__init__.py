"""Video job service: upload an MP4, poll the job, read per-frame OpenCV analysis."""
