// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * migguest: the real-QEMU tests' guest. A multiboot kernel (loaded with
 * qemu -kernel) that keeps a working set of guest memory dirty at a set rate,
 * so that precopy needs several passes to converge, and says so on COM1.
 *
 * Kernel command line (qemu -append):
 *   mib=N    working set, MiB from 8 MiB up (default 32)
 *   rate=R   MiB/s of pages dirtied (one word per 4 KiB page); 0 = fill the
 *            working set once, then halt (an idle guest). Default 0.
 *
 * 32-bit protected mode without paging (what a multiboot loader gives), no
 * interrupts, no libgcc: 32-bit arithmetic only. Time comes from the TSC,
 * calibrated against PIT channel 2. Built by tests/qemu/test_qemu.sh:
 *   gcc -m32 -ffreestanding -nostdlib -static -T guest.ld migguest.c
 */
#include <stdint.h>

#define MB_MAGIC 0x1BADB002u
#define MB_FLAGS 0x00000003u /* page-align modules, memory info */

__attribute__((section(".multiboot"), aligned(4), used)) static const uint32_t mb_header[3] = {
    MB_MAGIC, MB_FLAGS, 0u - (MB_MAGIC + MB_FLAGS)};

#define STACK_SIZE 16384
__attribute__((aligned(16), used)) uint8_t stack[STACK_SIZE];

struct mb_info {
	uint32_t flags;
	uint32_t mem_lower, mem_upper;
	uint32_t boot_device;
	uint32_t cmdline;
};

void gmain(uint32_t magic, const struct mb_info *mbi);

__asm__(".text\n"
	".globl _start\n"
	"_start:\n"
	"  cli\n"
	"  mov $stack + 16384, %esp\n"
	"  push %ebx\n"
	"  push %eax\n"
	"  call gmain\n"
	"1: hlt\n"
	"  jmp 1b\n");

#define WSET_BASE (8u << 20)
#define COM1	  0x3f8

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t rdtsc_lo(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return lo;
}

static void putc_serial(char c)
{
	for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
		;
	outb(COM1, (uint8_t)c);
}

static void puts_serial(const char *s)
{
	while (*s)
		putc_serial(*s++);
}

static void putu(uint32_t v)
{
	char buf[11];
	int n = 0;

	do {
		buf[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		putc_serial(buf[--n]);
}

/* TSC ticks in 10 ms, from PIT channel 2 in one-shot mode (as Linux does). */
static uint32_t tsc_per_10ms(void)
{
	const uint32_t latch = 1193182 / 100;
	uint32_t t0, t1;
	int spins = 0;

	outb(0x61, (uint8_t)((inb(0x61) & ~0x02) | 0x01)); /* gate on, speaker off */
	outb(0x43, 0xb0);				   /* ch 2, lo/hi, mode 0 */
	outb(0x42, latch & 0xff);
	outb(0x42, latch >> 8);
	t0 = rdtsc_lo();
	while (!(inb(0x61) & 0x20) && ++spins < 50000000)
		;
	t1 = rdtsc_lo();
	return spins < 50000000 ? t1 - t0 : 0;
}

static uint32_t arg_u32(const char *cmd, const char *key, uint32_t def)
{
	for (const char *p = cmd; p && *p; p++) {
		const char *k = key, *q = p;
		uint32_t v = 0;

		if (p != cmd && p[-1] != ' ')
			continue;
		while (*k && *q == *k)
			k++, q++;
		if (*k || *q < '0' || *q > '9')
			continue;
		while (*q >= '0' && *q <= '9')
			v = v * 10 + (uint32_t)(*q++ - '0');
		return v;
	}
	return def;
}

void gmain(uint32_t magic, const struct mb_info *mbi)
{
	const char *cmd =
	    (magic == 0x2BADB002u && (mbi->flags & 4)) ? (const char *)mbi->cmdline : "";
	uint32_t mib = arg_u32(cmd, "mib=", 32), rate = arg_u32(cmd, "rate=", 0);
	uint32_t npages, page = 0, gen = 1, acc = 0, ms = 0, tpms, last;
	volatile uint32_t *mem = (volatile uint32_t *)WSET_BASE;

	if (mbi->flags & 1) { /* keep the working set inside RAM */
		uint32_t avail = (mbi->mem_upper >> 10) + 1;

		if (avail <= 9)
			mib = 0;
		else if (mib > avail - 9)
			mib = avail - 9;
	}
	npages = mib * 256;
	tpms = tsc_per_10ms() / 10;
	if (!tpms)
		tpms = 1000000;
	puts_serial("migguest: mib=");
	putu(mib);
	puts_serial(" rate=");
	putu(rate);
	puts_serial(" tsc_khz=");
	putu(tpms);
	puts_serial("\n");

	/* the whole working set holds data (not zero pages) from the start */
	for (uint32_t i = 0; i < npages; i++)
		mem[i * 1024] = gen;
	puts_serial("migguest: ready\n");
	if (!rate || !npages)
		for (;;)
			__asm__ volatile("cli; hlt");

	gen++;
	last = rdtsc_lo();
	for (;;) {
		uint32_t now = rdtsc_lo(), n;

		if (now - last < tpms) {
			__asm__ volatile("pause");
			continue;
		}
		/* after a long stop (the switchover) do not catch up */
		last = now - last > 100 * tpms ? now : last + tpms;
		acc += rate * 256; /* pages per second, spent per ms */
		n = acc / 1000;
		acc %= 1000;
		while (n--) {
			mem[page * 1024] = gen;
			if (++page == npages) {
				page = 0;
				gen++;
			}
		}
		if (++ms == 1000) {
			ms = 0;
			puts_serial("migguest: alive gen ");
			putu(gen);
			puts_serial("\n");
		}
	}
}
