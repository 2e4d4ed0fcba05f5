"""User events to Personalize: the PutEvents sender, the buffer, the Segment webhook."""
