"""Fine-tuning of the small local model's tone and escalation behaviour (LoRA), and serving the promoted
adapter. Imports only `indexing` and `core`; answering reaches the tuned model through the service layer.
"""
