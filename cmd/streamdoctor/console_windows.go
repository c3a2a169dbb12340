//go:build windows

package main

import (
	"unsafe"

	"golang.org/x/sys/windows"
)

// ownConsoleWindow reports whether this process is alone on its console:
// Explorer made the window for it (a double-click), no cmd.exe or
// PowerShell shares it.
func ownConsoleWindow() bool {
	proc := windows.NewLazySystemDLL("kernel32.dll").NewProc("GetConsoleProcessList")
	if proc.Find() != nil {
		return false
	}
	var ids [2]uint32
	n, _, _ := proc.Call(uintptr(unsafe.Pointer(&ids[0])), 2)
	return n == 1
}
