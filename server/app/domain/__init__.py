"""The domain: jobs, their states and the ports the outside world plugs into.

Nothing here imports a framework, an ORM or OpenCV.
"""
