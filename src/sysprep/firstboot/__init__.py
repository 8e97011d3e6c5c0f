"""What sysprep installs into a target: its runtime bundle and the boot-time units."""
