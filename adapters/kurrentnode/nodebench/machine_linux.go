package nodebench

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// kernelAndFilesystem names the kernel and the type of the filesystem holding dir.
func kernelAndFilesystem(dir string) (kernel, fs string) {
	kernel, fs = "unknown", "unknown"
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		kernel = unix.ByteSliceToString(u.Sysname[:]) + " " + unix.ByteSliceToString(u.Release[:])
	}
	var st unix.Statfs_t
	if unix.Statfs(dir, &st) == nil {
		fs = fsName(int64(st.Type))
	}
	return kernel, fs
}

// datasync flushes f's data (and the size it grew to) to the disk.
func datasync(f *os.File) error { return unix.Fdatasync(int(f.Fd())) }

func fsName(magic int64) string {
	switch magic {
	case unix.EXT4_SUPER_MAGIC:
		return "ext4"
	case unix.XFS_SUPER_MAGIC:
		return "xfs"
	case unix.BTRFS_SUPER_MAGIC:
		return "btrfs"
	case unix.TMPFS_MAGIC:
		return "tmpfs (memory: syncs cost nothing)"
	case unix.OVERLAYFS_SUPER_MAGIC:
		return "overlayfs"
	}
	return fmt.Sprintf("0x%x", magic)
}
