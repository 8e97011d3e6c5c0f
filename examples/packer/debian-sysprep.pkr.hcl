# Build a generalized, resealed Debian template from a bootable Debian cloud image with
# cloud-init, the way Packer drives Windows Sysprep: sysprep is the shutdown_command.
# Runs with the Packer Debian packages (1.6.x, qemu builder built in); see README.md for
# current Packer releases (packer init, required_plugins).
#
#   ./make-seed                  # an SSH key for the build and the NoCloud seed that allows it
#   python3 -m sysprep.firstboot.bundle sysprep.pyz
#   packer build -var source_image=debian-12-genericcloud-amd64.qcow2 -var output_dir=out .

variable "source_image" {
  type        = string
  description = "The bootable cloud image to start from (raw or qcow2, with cloud-init)."
}

variable "output_dir" {
  type        = string
  default     = "output"
  description = "Where the template is written (must not exist)."
}

variable "format" {
  type    = string
  default = "qcow2"
}

variable "sysprep_pyz" {
  type        = string
  default     = "sysprep.pyz"
  description = "The sysprep runtime (python3 -m sysprep.firstboot.bundle sysprep.pyz)."
}

variable "answer_file" {
  type    = string
  default = "unattend.yaml"
}

variable "seed_dir" {
  type        = string
  default     = "seed"
  description = "The NoCloud seed (user-data, meta-data) served to the guest's cloud-init (make-seed)."
}

variable "ssh_timeout" {
  type        = string
  default     = "20m"
  description = "How long the first boot may take until SSH (software emulation is slow)."
}

variable "ssh_private_key_file" {
  type    = string
  default = "build_key"
}

source "qemu" "debian" {
  disk_image       = true
  skip_resize_disk = true # keep the source image's size (Packer would grow it to disk_size)
  iso_url          = var.source_image
  iso_checksum     = "none"
  format           = var.format
  output_directory = var.output_dir
  vm_name          = "template.${var.format}"
  accelerator      = "tcg" # "kvm" where /dev/kvm works
  memory           = 1024
  headless         = true

  # cloud-init's NoCloud datasource reads the seed from Packer's HTTP server, named in the
  # SMBIOS serial number: it lets the build in with the key of make-seed.
  http_directory = var.seed_dir
  qemuargs = [
    ["-smbios", "type=1,serial=ds=nocloud-net;s=http://{{ .HTTPIP }}:{{ .HTTPPort }}/"],
  ]

  communicator         = "ssh"
  ssh_username         = "root"
  ssh_private_key_file = var.ssh_private_key_file
  ssh_timeout          = var.ssh_timeout

  # sysprep generalizes the running guest, reseals it headless and powers it off; Packer
  # captures the stopped machine. A failed run leaves it running (IMAGE_STATE_UNDEPLOYABLE)
  # and the build fails at shutdown_timeout: the dry run below catches most causes first.
  # The answer file waits on tmpfs (/run/sysprep-answer, never on the template's disk, where
  # a deleted clear-text copy would stay in free blocks); sysprep caches it in the template
  # with its passwords hashed, and the /run copy vanishes at power-off.
  shutdown_command = "sysprep --generalize --shutdown --quiet --unattend /run/sysprep-answer/unattend.yaml"
  shutdown_timeout = "10m"
}

build {
  sources = ["source.qemu.debian"]

  provisioner "file" {
    source      = var.sysprep_pyz
    destination = "/tmp/sysprep.pyz"
  }

  provisioner "shell" {
    inline = ["install -d -m 700 /run/sysprep-answer"] # tmpfs: the answer never hits the disk
  }

  provisioner "file" {
    source      = var.answer_file
    destination = "/run/sysprep-answer/unattend.yaml"
  }

  provisioner "shell" {
    inline = [
      "cloud-init status --wait >/dev/null || true", # let cloud-init finish its first boot
      "python3 /tmp/sysprep.pyz install",            # /usr/sbin/sysprep and its runtime
      "rm /tmp/sysprep.pyz",
      "chmod 600 /run/sysprep-answer/unattend.yaml",
      "sysprep answer validate /run/sysprep-answer/unattend.yaml", # fail the build early, not at shutdown
      "sysprep --generalize --dry-run --quiet --unattend /run/sysprep-answer/unattend.yaml",
    ]
  }
}
