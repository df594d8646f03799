// Placeholder so the tomo layer links before its first component lands.
