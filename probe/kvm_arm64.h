/* Shared by the arm64 live KVM code (kvm_arm64.c, kvm_arm64_irq.c). */
#ifndef KQ_PROBE_KVM_ARM64_H
#define KQ_PROBE_KVM_ARM64_H

/* KVM_CREATE_VM with the IPA size the host needs (below the 40-bit
 * default it must be asked for). */
int kvm_arm64_create_vm(int kvm_fd);

#endif
