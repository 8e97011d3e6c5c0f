"""Built-in providers: one module each, like virt-sysprep's operations."""
