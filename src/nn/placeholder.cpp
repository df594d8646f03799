// Placeholder so the nn layer links before its first component lands.
