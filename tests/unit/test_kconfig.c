#include "../../probe/parse.h"
#include "test.h"

static const char config[] = "#\n# Automatically generated file\n#\n"
			     "CONFIG_KVM_GUEST=y\n"
			     "CONFIG_KVM=y\n"
			     "CONFIG_VHOST_NET=m\n"
			     "# CONFIG_VHOST_VSOCK is not set\n"
			     "CONFIG_NR_CPUS=512\n"
			     "CONFIG_LOCALVERSION=\"-v8-16k\"\n"
			     "CONFIG_VIRTIO";  /* truncated last line */

struct kc_case {
	const char *option;
	char value;
};

static const struct kc_case kc_cases[] = {
	{ "KVM", 'y' },             /* not confused with KVM_GUEST */
	{ "KVM_GUEST", 'y' },
	{ "VHOST_NET", 'm' },
	{ "VHOST_VSOCK", 'n' },     /* explicitly not set */
	{ "VIRTIO_NET", 'n' },      /* absent from a config that exists */
	{ "NR_CPUS", 'y' },         /* numbers count as on */
	{ "LOCALVERSION", 'y' },
	{ "VIRTIO", 'n' },          /* "CONFIG_VIRTIO" without '=' is no setting */
};

TEST(kconfig_values)
{
	for (size_t i = 0; i < sizeof(kc_cases) / sizeof(kc_cases[0]); i++) {
		char v = kconfig_value(config, sizeof(config) - 1, kc_cases[i].option);
		if (v != kc_cases[i].value)
			test_fail(__FILE__, __LINE__, "%s: '%c', expected '%c'", kc_cases[i].option, v,
				  kc_cases[i].value);
	}
	CHECK_INT(kconfig_value(NULL, 0, "KVM"), '?');
	char big[200];
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_INT(kconfig_value(config, sizeof(config) - 1, big), '?');
}

TEST(cmdline_lookup)
{
	const char *cl = "console=ttyAMA0 root=/dev/vda kvm-arm.mode=none quiet x=\"a b\" kvm-arm.mode_x=1";
	char v[32];
	CHECK(cmdline_get(cl, "kvm-arm.mode", v, sizeof(v)));
	CHECK_STR(v, "none");
	CHECK(cmdline_get(cl, "quiet", v, sizeof(v)));
	CHECK_STR(v, "");
	CHECK(cmdline_get(cl, "x", v, sizeof(v)));
	CHECK_STR(v, "\"a b\"");
	CHECK(!cmdline_get(cl, "kvm-arm", v, sizeof(v)));
	CHECK(!cmdline_get(cl, "ro", v, sizeof(v)));
	CHECK(!cmdline_get(NULL, "x", v, sizeof(v)));
	char small[3];
	CHECK(cmdline_get(cl, "console", small, sizeof(small)));
	CHECK_STR(small, "tt");
}
