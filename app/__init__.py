"""ftlab: the Fine-Tuning Lab."""
