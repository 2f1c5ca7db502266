#include "../../probe/parse.h"
#include "test.h"

static const char arm64_cpuinfo[] =
	"processor\t: 0\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics cpuid\n"
	"CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x4\nCPU part\t: 0xd0b\nCPU revision\t: 1\n\n"
	"processor\t: 1\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd\n"
	"CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd05\nCPU revision\t: 0\n";

static const char x86_cpuinfo[] =
	"processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nphysical id\t: 0\ncore id\t\t: 0\n"
	"flags\t\t: fpu vme hypervisor svm\n\n"
	"processor\t: 1\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nphysical id\t: 0\ncore id\t\t: 1\n"
	"flags\t\t: fpu vme hypervisor svm\n";

TEST(cpuinfo_arm64)
{
	struct cpuinfo ci;
	cpuinfo_parse(arm64_cpuinfo, sizeof(arm64_cpuinfo) - 1, &ci);
	CHECK_INT(ci.count, 2);
	CHECK(ci.looks_arm64);
	CHECK(!ci.looks_x86);
	CHECK_INT(ci.cpus[0].implementer, 0x41);
	CHECK_INT(ci.cpus[0].part, 0xd0b);
	CHECK_INT(ci.cpus[0].variant, 4);
	CHECK_INT(ci.cpus[1].part, 0xd05);
	CHECK(flag_list_has(ci.cpus[0].features, "aes"));
	CHECK(!flag_list_has(ci.cpus[0].features, "ae"));
	CHECK_STR(midr_core_name(0x41, 0xd0b), "Cortex-A76");
	CHECK_STR(midr_core_name(0x41, 0xd05), "Cortex-A55");
	CHECK(midr_core_name(0x41, 0xfff) == NULL);
	cpuinfo_free(&ci);
}

TEST(cpuinfo_x86)
{
	struct cpuinfo ci;
	cpuinfo_parse(x86_cpuinfo, sizeof(x86_cpuinfo) - 1, &ci);
	CHECK_INT(ci.count, 2);
	CHECK(ci.looks_x86);
	CHECK(!ci.looks_arm64);
	CHECK_STR(ci.cpus[1].model_name, "AMD EPYC");
	CHECK_INT(ci.cpus[1].core_id, 1);
	CHECK(flag_list_has(ci.cpus[0].features, "svm"));
	CHECK(flag_list_has(ci.cpus[0].features, "hypervisor"));
	CHECK(!flag_list_has(ci.cpus[0].features, "vmx"));
	cpuinfo_free(&ci);
}

TEST(cpuinfo_malformed)
{
	static const char junk[] = "processor: 99999999999999999999\nCPU part: banana\n\x00\xff:\n::::\n"
				   "CPU implementer : 0x41 trailing\nprocessor\n";
	struct cpuinfo ci;
	cpuinfo_parse(junk, sizeof(junk) - 1, &ci);
	CHECK_INT(ci.count, 1);
	CHECK_INT(ci.cpus[0].part, ~0u);
	CHECK_INT(ci.cpus[0].implementer, ~0u);
	cpuinfo_free(&ci);
	cpuinfo_parse(NULL, 0, &ci);
	CHECK_INT(ci.count, 0);
	cpuinfo_free(&ci);
}
