"""Small service functions every door calls with a `Caller`; each takes its stores (production default)."""
