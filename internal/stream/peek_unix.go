// SPDX-License-Identifier: Apache-2.0

//go:build unix

package stream

import (
	"errors"
	"net"
	"syscall"
)

// peek reports, without reading or waiting, whether the peer of c has
// closed the connection, sent data, or neither, from the socket's state:
// a recv with MSG_PEEK on the non-blocking socket. It answers peekUnknown
// when c gives no access to its socket (a wrapped connection).
func peek(c net.Conn) peekState {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return peekUnknown
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return peekUnknown
	}
	state := peekUnknown
	var b [1]byte
	err = raw.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK)
		switch {
		case n > 0:
			state = peekData
		case err == nil:
			state = peekClosed // an orderly shutdown: EOF
		case errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.EWOULDBLOCK), errors.Is(err, syscall.EINTR):
			state = peekOpen
		default:
			state = peekClosed // reset, or another error
		}
		return true // never wait for readiness
	})
	if err != nil {
		return peekClosed
	}
	return state
}
