"""What commands do that is more than one runtime call."""
