// SPDX-License-Identifier: GPL-2.0
/*
 * sloop: module entry points.
 */
#include <linux/module.h>
#include <net/rtnetlink.h>

#include "device.h"

static int __init sloop_mod_init(void)
{
	int ret;

	ret = sloop_device_init();
	if (ret)
		return ret;
	pr_info("sloop " SLOOP_VERSION " loaded\n");
	return 0;
}

static void __exit sloop_mod_exit(void)
{
	sloop_device_uninit();
}

module_init(sloop_mod_init);
module_exit(sloop_mod_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("sloop VPN data path: UDP encapsulation with in-kernel AEAD");
MODULE_AUTHOR("sloop developers");
MODULE_VERSION(SLOOP_VERSION);
MODULE_ALIAS_RTNL_LINK("sloop");
