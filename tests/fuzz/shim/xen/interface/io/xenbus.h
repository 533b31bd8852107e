/* SPDX-License-Identifier: GPL-2.0 */
/* Fuzzing shim: the xenbus device states (Xen's io/xenbus.h numbering). */
#ifndef FUZZ_SHIM_XENBUS_H
#define FUZZ_SHIM_XENBUS_H
enum xenbus_state {
	XenbusStateUnknown = 0,
	XenbusStateInitialising = 1,
	XenbusStateInitWait = 2,
	XenbusStateInitialised = 3,
	XenbusStateConnected = 4,
	XenbusStateClosing = 5,
	XenbusStateClosed = 6,
	XenbusStateReconfiguring = 7,
	XenbusStateReconfigured = 8,
};
#endif
