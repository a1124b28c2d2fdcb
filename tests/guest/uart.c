/*
 * The COM1 16550A (PC16550D datasheet): scratch register, LCR and the DLAB divisor latch,
 * IER, FIFO identification and IIR, the THRE interrupt condition, LSR THRE/TEMT, and
 * loopback mode (MCR bit 4): bytes written to THR come back in RBR, the modem outputs come
 * back in MSR.  While the UART is reconfigured nothing can be printed, so results are
 * recorded first and reported once the UART is restored.
 */
#include "lib/io.h"
#include "lib/test.h"
#include "lib/uart.h"

#define R(off) ((uint16_t)(COM1_BASE + (off)))

struct result {
    bool ok;
    const char *what;
    uint32_t got;
};

static struct result results[48];
static unsigned nresults;

static void record(bool ok, const char *what, uint32_t got)
{
    if (nresults < sizeof(results) / sizeof(results[0]))
        results[nresults++] = (struct result){ ok, what, got };
}

static void report(void)
{
    for (unsigned i = 0; i < nresults; i++)
        CHECK(results[i].ok, "%s (read 0x%x)", results[i].what, results[i].got);
    nresults = 0;
}

static void check_scratch_and_lcr(void)
{
    static const uint8_t pats[] = { 0x00, 0x55, 0xaa, 0xff, 0x3c };
    bool ok = true;
    uint8_t v = 0;
    for (unsigned i = 0; i < sizeof(pats); i++) {
        outb(R(UART_SCR), pats[i]);
        v = inb(R(UART_SCR));
        ok &= v == pats[i];
    }
    record(ok, "scratch register holds 00 55 aa ff 3c", v);
    outb(R(UART_LCR), 0x1b);                    /* 8 data bits, even parity */
    v = inb(R(UART_LCR));
    outb(R(UART_LCR), 0x03);
    record(v == 0x1b, "LCR reads back 0x1b", v);
}

static void check_divisor_latch(void)
{
    outb(R(UART_IER), 0x05);                    /* RDA + line status: nothing pending */
    outb(R(UART_LCR), 0x83);                    /* DLAB on */
    outb(R(UART_DLL), 0x0c);
    outb(R(UART_DLM), 0x01);
    uint8_t dll = inb(R(UART_DLL)), dlm = inb(R(UART_DLM)), lcr = inb(R(UART_LCR));
    outb(R(UART_LCR), 0x03);                    /* DLAB off: offset 1 is IER again */
    uint8_t ier = inb(R(UART_IER));
    outb(R(UART_LCR), 0x83);                    /* back to 115200 */
    outb(R(UART_DLL), 0x01);
    outb(R(UART_DLM), 0x00);
    outb(R(UART_LCR), 0x03);
    record(dll == 0x0c, "DLAB=1: DLL latch reads back 0x0c", dll);
    record(dlm == 0x01, "DLAB=1: DLM latch reads back 0x01", dlm);
    record(lcr == 0x83, "DLAB=1: LCR reads 0x83", lcr);
    record(ier == 0x05, "DLAB=0: offset 1 reads IER (0x05), not the latch", ier);
    outb(R(UART_IER), 0xff);
    ier = inb(R(UART_IER));
    outb(R(UART_IER), 0x00);
    record(ier == 0x0f, "IER keeps only its 4 defined bits (0xff -> 0x0f)", ier);
}

static void check_iir(void)
{
    outb(R(UART_FCR), 0x07);
    uint8_t iir = inb(R(UART_IIR));
    record((iir & 0xc0) == 0xc0, "FIFOs enabled: IIR bits 7:6 = 11 (a 16550A)", iir);
    record((iir & 0x0f) == 0x01, "IER=0: IIR says no interrupt pending", iir);
    outb(R(UART_IER), 0x02);                    /* THR empty interrupt: pending at once */
    uint8_t iir1 = inb(R(UART_IIR)), iir2 = inb(R(UART_IIR));
    outb(R(UART_IER), 0x00);
    record((iir1 & 0x0f) == 0x02, "IER=2 with THR empty: IIR = THRE interrupt (id 2)", iir1);
    record((iir2 & 0x0f) == 0x01, "reading IIR clears the THRE interrupt", iir2);
    uint8_t lsr = inb(R(UART_LSR));
    record((lsr & 0x60) == 0x60, "LSR: THRE and TEMT set when idle", lsr);
}

/* Waits (boundedly) for a received byte; returns the LSR. */
static uint8_t wait_rx(void)
{
    uint8_t lsr = 0;
    for (int i = 0; i < 10000 && !((lsr = inb(R(UART_LSR))) & UART_LSR_DR); i++)
        ;
    return lsr;
}

static void check_loopback(void)
{
    outb(R(UART_MCR), UART_MCR_LOOP | 0x03);    /* loop, DTR, RTS */
    uint8_t msr1 = inb(R(UART_MSR));
    outb(R(UART_MCR), UART_MCR_LOOP | 0x0c);    /* loop, OUT1, OUT2 */
    uint8_t msr2 = inb(R(UART_MSR));
    for (int i = 0; i < 32 && (inb(R(UART_LSR)) & UART_LSR_DR); i++)
        inb(R(UART_RBR));                       /* drain anything received earlier */
    outb(R(UART_THR), 'V');
    uint8_t lsr = wait_rx(), c = inb(R(UART_RBR)), lsr2 = inb(R(UART_LSR));
    static const char word[] = "Vireo";
    for (int i = 0; i < 5; i++)
        outb(R(UART_THR), word[i]);
    bool fifo_ok = true;
    for (int i = 0; i < 5; i++) {
        wait_rx();
        fifo_ok &= inb(R(UART_RBR)) == (uint8_t)word[i];
    }
    uint8_t lsr3 = inb(R(UART_LSR));
    outb(R(UART_MCR), 0x03);                    /* loopback off */
    record((msr1 & 0xf0) == 0x30, "loopback: DTR,RTS -> MSR DSR,CTS (0x30)", msr1);
    record((msr2 & 0xf0) == 0xc0, "loopback: OUT1,OUT2 -> MSR RI,DCD (0xc0)", msr2);
    record(lsr & UART_LSR_DR, "loopback: LSR.DR after a write to THR", lsr);
    record(c == 'V', "loopback: RBR returns the byte written ('V' = 0x56)", c);
    record(!(lsr2 & UART_LSR_DR), "reading RBR clears LSR.DR", lsr2);
    record(fifo_ok, "loopback: 5 bytes come back in order through the FIFO", 0);
    record((lsr3 & 0x61) == 0x60, "after loopback: THRE, TEMT set, no data left", lsr3);
}

int guest_main(void)
{
    test_begin("uart");
    uart_flush();
    check_scratch_and_lcr();
    check_divisor_latch();
    report();
    check_iir();
    report();
    uart_flush();
    check_loopback();
    report();
    test_end();
}
