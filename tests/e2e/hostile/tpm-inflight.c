// SPDX-License-Identifier: GPL-2.0
/*
 * tpm-inflight: a kernel user of the guest's TPM that the freezer does not
 * stop, as the hwrng thread is one, for the testbed only. Its thread calls
 * tpm_get_random() on the default chip in a loop (20 ms apart), so that a
 * command is in flight whenever dom0 stops the vTPM's server and saves the
 * guest (scenario frontend, patch 0006 of frontend/patches/).
 *
 * Counters, read-only module parameters: calls, fails, slowest_ms (the
 * longest call, CLOCK_MONOTONIC). Each failed call, and each call that
 * took a second or more, is logged with its duration.
 */
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/tpm.h>

static unsigned int calls, fails, slowest_ms;
module_param(calls, uint, 0444);
module_param(fails, uint, 0444);
module_param(slowest_ms, uint, 0444);

static struct task_struct *inflight_thread;

static int inflight_fn(void *unused)
{
	u8 buf[8];

	while (!kthread_should_stop()) {
		ktime_t t0 = ktime_get();
		int rc = tpm_get_random(NULL, buf, sizeof(buf));
		unsigned int ms = ktime_ms_delta(ktime_get(), t0);

		WRITE_ONCE(calls, calls + 1);
		if (ms > slowest_ms)
			WRITE_ONCE(slowest_ms, ms);
		if (rc < 0) {
			WRITE_ONCE(fails, fails + 1);
			pr_info("tpm-inflight: tpm_get_random: %d after %u ms\n", rc, ms);
		} else if (ms >= 1000) {
			pr_info("tpm-inflight: tpm_get_random took %u ms\n", ms);
		}
		msleep(20);
	}
	return 0;
}

static int __init inflight_init(void)
{
	inflight_thread = kthread_run(inflight_fn, NULL, "tpm-inflight");
	return PTR_ERR_OR_ZERO(inflight_thread);
}

static void __exit inflight_exit(void)
{
	kthread_stop(inflight_thread);
}

module_init(inflight_init);
module_exit(inflight_exit);
MODULE_DESCRIPTION("testbed: a TPM user the freezer does not stop");
MODULE_LICENSE("GPL");
