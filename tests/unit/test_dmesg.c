#include "../../probe/parse.h"
#include "test.h"

struct mode_case {
	const char *log;
	enum kvm_arm_mode mode;
	int nv2;
};

/* Lines as the arm64 kernel prints them across versions (4.x "Hyp mode",
 * 6.x "Hyp nVHE mode", pKVM, hVHE, NV2) and with each log prefix. */
static const struct mode_case mode_cases[] = {
	{ "[    0.512345] kvm [1]: VHE mode initialized successfully\n", KVM_ARM_VHE, 0 },
	{ "[    0.5] kvm [1]: Hyp mode initialized successfully\n", KVM_ARM_NVHE, 0 },
	{ "kvm [1]: Hyp nVHE mode initialized successfully", KVM_ARM_NVHE, 0 },
	{ "<6>[    1.0] kvm [1]: Hyp hVHE mode initialized successfully\n", KVM_ARM_HVHE, 0 },
	{ "6,1234,567890,-;kvm [1]: Protected nVHE mode initialized successfully\n", KVM_ARM_PROTECTED_NVHE, 0 },
	{ "kvm [1]: Protected hVHE mode initialized successfully\n", KVM_ARM_PROTECTED_HVHE, 0 },
	{ "kvm [1]: VHE+NV2 mode initialized successfully\n", KVM_ARM_VHE, 1 },
	{ "kvm [1]: Hyp nVHE+NV2 mode initialized successfully\n", KVM_ARM_NVHE, 1 },
	{ "[    0.1] kvm [1]: HYP mode not available\n", KVM_ARM_UNAVAILABLE, 0 },
	{ "kvm [1]: KVM disabled from command line\n", KVM_ARM_DISABLED, 0 },
	{ "kvm [1]: error initializing Hyp mode: -22\n", KVM_ARM_UNAVAILABLE, 0 },
	{ "kvm [1]: IPA Size Limit: 40 bits\nkvm [1]: vgic interrupt IRQ9\n", KVM_ARM_UNKNOWN, 0 },
	{ "", KVM_ARM_UNKNOWN, 0 },
	/* a userspace message that merely mentions the words does not count */
	{ "systemd[1]: VHE mode initialized successfully\n", KVM_ARM_UNKNOWN, 0 },
	/* the first decisive line wins */
	{ "kvm [1]: VHE mode initialized successfully\nkvm [1]: HYP mode not available\n", KVM_ARM_VHE, 0 },
};

TEST(dmesg_kvm_modes)
{
	for (size_t i = 0; i < sizeof(mode_cases) / sizeof(mode_cases[0]); i++) {
		struct kvm_arm_log k;
		dmesg_kvm_arm(mode_cases[i].log, strlen(mode_cases[i].log), &k);
		if (k.mode != mode_cases[i].mode || k.nv2 != mode_cases[i].nv2)
			test_fail(__FILE__, __LINE__, "case %zu: mode %s nv2 %d, expected %s nv2 %d", i,
				  kvm_arm_mode_name(k.mode), k.nv2, kvm_arm_mode_name(mode_cases[i].mode),
				  mode_cases[i].nv2);
	}
}

TEST(dmesg_kvm_line_and_ipa)
{
	const char *log = "[    0.000000] Booting Linux\n"
			  "[    0.400000] kvm [1]: IPA Size Limit: 44 bits\n"
			  "[    0.500000] kvm [1]: HYP mode not available\n";
	struct kvm_arm_log k;
	dmesg_kvm_arm(log, strlen(log), &k);
	CHECK_INT(k.mode, KVM_ARM_UNAVAILABLE);
	CHECK_STR(k.line, "kvm [1]: HYP mode not available");
	CHECK_INT(k.ipa_bits, 44);
}

TEST(dmesg_vhe_feature)
{
	const char *log = "[    0.0] CPU features: detected: Virtualization Host Extensions\n";
	struct kvm_arm_log k;
	dmesg_kvm_arm(log, strlen(log), &k);
	CHECK_INT(k.vhe_feature, 1);
	CHECK_INT(k.mode, KVM_ARM_UNKNOWN);
}

struct el_case {
	const char *log;
	enum boot_el el;
};

static const struct el_case el_cases[] = {
	{ "[    0.1] CPU: All CPU(s) started at EL2\n", BOOT_EL2 },
	{ "[    0.1] CPU: All CPU(s) started at EL1\n", BOOT_EL1 },
	{ "CPU: CPUs started in inconsistent modes\nCPU: All CPU(s) started at EL2\n", BOOT_EL_MIXED },
	{ "SMP: Total of 4 processors activated.\n", BOOT_EL_UNKNOWN },
	{ "", BOOT_EL_UNKNOWN },
};

TEST(dmesg_boot_el)
{
	for (size_t i = 0; i < sizeof(el_cases) / sizeof(el_cases[0]); i++) {
		char line[128];
		enum boot_el el = dmesg_boot_el(el_cases[i].log, strlen(el_cases[i].log), line, sizeof(line));
		if (el != el_cases[i].el)
			test_fail(__FILE__, __LINE__, "case %zu: el %d, expected %d", i, el, el_cases[i].el);
	}
	char line[128];
	const char *log = "[    0.100000] CPU: All CPU(s) started at EL2\n";
	dmesg_boot_el(log, strlen(log), line, sizeof(line));
	CHECK_STR(line, "CPU: All CPU(s) started at EL2");
}

TEST(dmesg_binary_junk)
{
	/* NUL bytes, no newline at the end, control characters, a match
	 * that runs off the end of the buffer. */
	static const char junk[] = "\x01\xff\x00kvm [1]: VHE mode init\x00\x1b[31m\n\xfe"
				   "kvm [1]: VHE mode initialized successfull";
	struct kvm_arm_log k;
	dmesg_kvm_arm(junk, sizeof(junk) - 1, &k);
	CHECK_INT(k.mode, KVM_ARM_UNKNOWN);
	char line[8];
	/* A line longer than the buffer is cut, never overflowed. */
	const char *log = "CPU: All CPU(s) started at EL2 and a lot more text after it\n";
	CHECK_INT(dmesg_boot_el(log, strlen(log), line, sizeof(line)), BOOT_EL2);
	CHECK_INT(strlen(line), 7);
	CHECK_INT(dmesg_boot_el(NULL, 0, NULL, 0), BOOT_EL_UNKNOWN);
}
