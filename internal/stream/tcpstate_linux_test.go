// SPDX-License-Identifier: Apache-2.0

package stream_test

import (
	"encoding/binary"
	"net"
	"syscall"
)

// peerCloseArrived reports whether this host has received the peer's
// close of c (a FIN: the socket is in CLOSE_WAIT; or a reset: CLOSED),
// from the kernel's TCP state (TCP_INFO), without reading from c. A
// connection already closed on this side counts as arrived.
func peerCloseArrived(c net.Conn) bool {
	var raw syscall.RawConn
	if sc, ok := c.(syscall.Conn); ok {
		raw, _ = sc.SyscallConn()
	}
	if raw == nil {
		return true
	}
	// The first byte of struct tcp_info is tcpi_state: asking for an int
	// gets its first four bytes as they are in memory.
	var v int
	var err error
	if raw.Control(func(fd uintptr) { v, err = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_INFO) }) != nil || err != nil {
		return true // closed on this side
	}
	var info [4]byte
	binary.NativeEndian.PutUint32(info[:], uint32(v))
	const tcpClose, tcpCloseWait = 7, 8 // include/net/tcp_states.h
	return info[0] == tcpClose || info[0] == tcpCloseWait
}
