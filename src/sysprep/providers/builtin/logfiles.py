"""logfiles: remove log files, installer leftovers and the journal (virt-sysprep's list, and more)."""

from __future__ import annotations

from sysprep.providers.actions import Clean, Remove
from sysprep.providers.base import Phase, Provider

# virt-sysprep's list (guestfs-tools, sysprep_operation_logfiles.ml), same globs.
VIRT_SYSPREP = (
    # log files
    "var/log/*.log*",
    "var/log/audit/*",
    "var/log/btmp*",
    "var/log/cron*",
    "var/log/dmesg*",
    "var/log/lastlog*",
    "var/log/maillog*",
    "var/log/mail/*",
    "var/log/messages*",
    "var/log/secure*",
    "var/log/spooler*",
    "var/log/tallylog*",
    "var/log/wtmp*",
    "var/log/apache2/*_log",
    "var/log/apache2/*_log-*",
    "var/log/ntp",
    "var/log/tuned/tuned.log",
    "var/log/debug*",
    "var/log/syslog*",
    "var/log/faillog*",
    "var/log/firewalld*",
    "var/log/grubby*",
    "var/log/xferlog*",
    "var/log/BackupPC/LOG",
    "var/log/ceph/*.log",
    "var/log/chrony/*.log",
    "var/log/cups/*_log*",
    "var/log/glusterfs/*glusterd.vol.log",
    "var/log/glusterfs/glusterfs.log",
    "var/log/httpd/*log",
    "var/log/jetty/jetty-console.log",
    "var/log/libvirt/libxl/*.log",
    "var/log/libvirt/libvirtd.log",
    "var/log/libvirt/lxc/*.log",
    "var/log/libvirt/qemu/*.log",
    "var/log/libvirt/uml/*.log",
    "var/named/data/named.run",
    "var/log/ppp/connect-errors",
    "var/log/setroubleshoot/*.log",
    "var/log/squid/*.log",
    # the status file of logrotate (Red Hat path)
    "var/lib/logrotate.status",
    # installer files
    "root/install.log",
    "root/install.log.syslog",
    "root/anaconda-ks.cfg",
    "root/original-ks.cfg",
    "root/anaconda-post.log",
    "root/initial-setup-ks.cfg",
    "var/log/anaconda.syslog",
    "var/log/anaconda/*",
    "var/log/installer/*",
    # GDM and session preferences, fingerprints, caches
    "var/cache/gdm/*",
    "var/lib/AccountService/users/*",
    "var/lib/fprint/*",
    "var/cache/fontconfig/*",
    "var/cache/man/*",
    # sysstat, gdm, lightdm, ntp
    "var/log/sa/*",
    "var/log/gdm/*",
    "var/log/lightdm/*",
    "var/log/ntpstats/*",
    # Pegasus certificates
    "etc/Pegasus/*.cnf",
    "etc/Pegasus/*.crt",
    "etc/Pegasus/*.csr",
    "etc/Pegasus/*.pem",
    "etc/Pegasus/*.srl",
    # subscription manager, journal, apt, exim, ConsoleKit
    "var/log/rhsm/*",
    "var/log/journal/*",
    "var/log/aptitude*",
    "var/log/apt/*",
    "var/log/exim4/*",
    "var/log/ConsoleKit/*",
)

# What a Linux image carries besides: rotated logs under any name, every file in every
# sub-folder of /var/log (the folders stay: daemons expect them, with their owners), the
# Debian/SUSE paths of logrotate's status, and installer leftovers of other distributions.
MORE = (
    "var/log/*.[0-9]",
    "var/log/*.[0-9].gz",
    "var/log/*.gz",
    "var/log/*.xz",
    "var/log/*.zst",
    "var/log/*.old",
    "var/log/*-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]*",
    "var/log/alternatives.log*",
    "var/log/dpkg.log*",
    "var/log/bootstrap.log",
    "var/log/kern.log*",
    "var/log/auth.log*",
    "var/log/user.log*",
    "var/log/daemon.log*",
    "var/log/boot.log*",
    "var/log/cloud-init*.log",
    "var/log/dnf*",
    "var/log/yum.log*",
    "var/log/hawkey.log*",
    "var/log/zypper.log*",
    "var/log/pacman.log*",
    "var/log/Xorg.*.log*",
    "var/log/fontconfig.log",
    "var/log/README",
    "var/lib/logrotate/status",
    "var/lib/logrotate/logrotate.status",
    "var/lib/misc/logrotate.status",
    "var/log/YaST2/*",
    "var/log/zypp/*",
    "var/log/calamares*",
    "var/log/subiquity/*",
    "var/log/curtin/*",
    "root/anaconda-post-nochroot.log",
    "root/.cloud-locale-test.skip",
    "var/lib/systemd/catalog/database",
)


PROVIDER = Provider(
    name="logfiles",
    heading="Remove many log files from the guest",
    description=(
        "Removes the log files virt-sysprep removes (its whole list: system, mail, audit, "
        "web server, libvirt, installer leftovers, GDM and fontconfig caches, the systemd "
        "journal, apt and exim logs, logrotate's status), rotated logs under any name, and "
        "every file left in every folder under /var/log. The folders themselves stay, with "
        "their owners and modes, because services expect them. sysprep's own generalize logs "
        "are kept outside /var/log (/var/lib/sysprep/panther)."
    ),
    phase=Phase.CLEANUP,
    actions=(Remove(*VIRT_SYSPREP, *MORE), Clean("var/log", keep_dirs=True)),
)
