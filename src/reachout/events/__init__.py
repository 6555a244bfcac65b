"""Contact events: the EventBridge envelope, the outbox, event patterns and rule targets."""
