"""One definition of each rule of the system's own files and names: host and account
names, /etc/passwd and /etc/group, fstab, and sysprep's INI record files.

Pure Python (3.9) with no import from the rest of sysprep: the runtime bundle in an image
uses it, and so does every layer above.
"""
