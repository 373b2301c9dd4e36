"""What jobs read and write as files: uploaded tasks, adapters and combined adapters."""
