"""Job-id queues: in-process for unit tests, Manager-served between API and workers."""
