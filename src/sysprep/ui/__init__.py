"""The interactive faces: the Sysprep dialog, the first-boot welcome (OOBE) and the AuditUI.

Each is a full-screen textual app that also works on a bare Linux console (tty1, 80x25, no
mouse, limited glyphs), and each has a plain fallback (line prompts, one line per item) for
terminals that cannot run a full-screen UI: TERM=dumb, a serial console without a size, or
SYSPREP_UI=plain. textual is imported only when a full-screen UI is shown.
"""
