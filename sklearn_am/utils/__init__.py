"""Private helpers of sklearn_am (nothing public here)."""
