// perfbuf_tail's default source: "Hello World" on every execve, through a perf buffer.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct data_t {
	int pid;
	int uid;
	char command[16];
	char message[12];
};
// Puts the event struct into BTF: clang emits BTF only for types globals or maps reach.
struct data_t *unused_data_t __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} output SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_execve")
int hello(void *ctx)
{
	struct data_t data = {};

	data.pid = bpf_get_current_pid_tgid() >> 32;
	data.uid = bpf_get_current_uid_gid() & 0xffffffff;
	bpf_get_current_comm(&data.command, sizeof(data.command));
	__builtin_memcpy(data.message, "Hello World", 12);
	bpf_perf_event_output(ctx, &output, BPF_F_CURRENT_CPU, &data, sizeof(data));
	return 0;
}
