"""Fine-tuning of the small local model's tone and escalation behaviour (LoRA), and loading it.

Never imports `bot`. The Slack app uses `tuning.base_model` to load the model it writes escalation
replies with; later the promoted LoRA adapter is applied on top of it.
"""
