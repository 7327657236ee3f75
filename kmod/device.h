/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SLOOP_DEVICE_H
#define _SLOOP_DEVICE_H

#include <linux/netdevice.h>

struct sloop_device {
	struct net_device *dev;
};

int sloop_device_init(void);
void sloop_device_uninit(void);

#endif /* _SLOOP_DEVICE_H */
