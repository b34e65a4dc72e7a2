"""The event plumbing every KundOnline service shares: one outbox relay, one consumer loop."""
