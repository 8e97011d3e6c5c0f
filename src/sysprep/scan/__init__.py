"""`sysprep scan`: what a clone of the target would share (identity) or leak (secrets)."""
