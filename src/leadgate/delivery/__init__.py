"""Connect, delivering: valid leads into the client's campaign, and the client's verdicts back."""
