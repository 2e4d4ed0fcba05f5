"""Personalize behind the `Recommender` port: the aiobotocore adapter and its fallbacks."""
