/* CMOS RTC / NVRAM (MC146818A register set at ports 0x70/0x71, as on the PC). */
#ifndef GUEST_CMOS_H
#define GUEST_CMOS_H

#include <stdint.h>
#include <stdbool.h>

#define CMOS_INDEX 0x70
#define CMOS_DATA  0x71

#define RTC_SECONDS 0x00
#define RTC_MINUTES 0x02
#define RTC_HOURS   0x04
#define RTC_WEEKDAY 0x06
#define RTC_DAY     0x07
#define RTC_MONTH   0x08
#define RTC_YEAR    0x09
#define RTC_REG_A   0x0a
#define RTC_REG_B   0x0b
#define RTC_REG_C   0x0c
#define RTC_REG_D   0x0d
#define RTC_CENTURY 0x32    /* the ACPI FADT CENTURY field names it; QEMU and Vireo use 0x32 */

#define RTC_A_UIP   0x80    /* update in progress */
#define RTC_B_SET   0x80
#define RTC_B_DM    0x04    /* 1 = binary, 0 = BCD */
#define RTC_B_24H   0x02
#define RTC_D_VRT   0x80    /* valid RAM and time */

/* NVRAM memory-size fields (QEMU's layout, followed by Vireo). */
#define CMOS_EXT_MEM_LO    0x30   /* KiB above 1 MiB, capped at 0xffff */
#define CMOS_MEM_16M_LO    0x34   /* 64 KiB units above 16 MiB, below 4 GiB */
#define CMOS_MEM_4G_LO     0x5b   /* 64 KiB units above 4 GiB, 3 bytes */

uint8_t cmos_read(uint8_t reg);
void cmos_write(uint8_t reg, uint8_t val);

struct rtc_time {
    unsigned year, month, day, hour, min, sec;
};

/* RAM below 4 GiB and above 4 GiB according to the NVRAM size fields. */
uint64_t cmos_ram_below_4g(void);
uint64_t cmos_ram_above_4g(void);

static inline unsigned bcd_to_bin(uint8_t v) { return (v >> 4) * 10 + (v & 0x0f); }
static inline bool is_bcd(uint8_t v) { return (v & 0x0f) <= 9 && (v >> 4) <= 9; }

/* Waits (boundedly) until no update is in progress; false if UIP never cleared. */
bool rtc_wait_not_updating(void);
/* Reads a consistent date and time (reads twice until equal), decoding BCD/binary and
 * 12-hour mode per register B. */
bool rtc_read_time(struct rtc_time *t);
/* Seconds since 1970-01-01 00:00:00 (the RTC is taken to count UTC, QEMU's default). */
uint64_t rtc_to_epoch(const struct rtc_time *t);

#endif
