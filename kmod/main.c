// SPDX-License-Identifier: GPL-2.0
/*
 * sloop: module entry points.
 */
#include <linux/module.h>
#include <net/genetlink.h>
#include <net/rtnetlink.h>
#include <sloop/uapi.h>

#include "allowedips.h"
#include "crypto.h"
#include "device.h"
#include "netlink.h"

static bool selftest;
module_param(selftest, bool, 0444);
MODULE_PARM_DESC(selftest, "run the self tests at load and refuse to load if one fails");

static int __init sloop_run_selftests(void)
{
	if (!sloop_allowedips_selftest() || !sloop_replay_selftest() ||
	    !sloop_crypto_selftest()) {
		pr_err("sloop: selftest failed\n");
		return -ENOTRECOVERABLE;
	}
	pr_info("sloop: selftest ok\n");
	return 0;
}

static int __init sloop_mod_init(void)
{
	int ret;

	ret = sloop_crypto_init();
	if (ret)
		return ret;
	if (selftest) {
		ret = sloop_run_selftests();
		if (ret)
			goto err_crypto;
	}
	ret = sloop_device_init();
	if (ret)
		goto err_crypto;
	ret = sloop_netlink_init();
	if (ret)
		goto err_device;
	pr_info("sloop " SLOOP_VERSION " loaded\n");
	return 0;

err_device:
	sloop_device_uninit();
err_crypto:
	sloop_crypto_uninit();
	return ret;
}

static void __exit sloop_mod_exit(void)
{
	/* Devices first: their teardown still sends notifications. */
	sloop_device_uninit();
	sloop_netlink_uninit();
	sloop_crypto_uninit();
	/* RCU callbacks that free peers and keys run module code. */
	rcu_barrier();
}

module_init(sloop_mod_init);
module_exit(sloop_mod_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("sloop VPN data path: UDP encapsulation with in-kernel AEAD");
MODULE_AUTHOR("sloop developers");
MODULE_VERSION(SLOOP_VERSION);
MODULE_ALIAS_RTNL_LINK("sloop");
MODULE_ALIAS_GENL_FAMILY(SLOOP_GENL_NAME);
