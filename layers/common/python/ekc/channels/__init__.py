"""What each channel shows or says, rendered from domain objects; texts live in ekc.messages."""
