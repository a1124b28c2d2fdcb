#include "uart.h"
#include "io.h"
#include <stdbool.h>

/* An emulated 16550 is always ready; a real one at 115200 baud needs ~87 us per byte.  The
 * bound keeps a broken or absent UART from hanging the guest (absent: LSR reads 0xff). */
#define UART_POLL_LIMIT 100000

void uart_init(void)
{
    outb(COM1_BASE + UART_IER, 0x00);
    outb(COM1_BASE + UART_LCR, UART_LCR_DLAB);
    outb(COM1_BASE + UART_DLL, 1);              /* 115200 baud */
    outb(COM1_BASE + UART_DLM, 0);
    outb(COM1_BASE + UART_LCR, 0x03);           /* 8N1, DLAB off */
    outb(COM1_BASE + UART_FCR, 0x07);           /* FIFO on, both cleared */
    outb(COM1_BASE + UART_MCR, 0x03);           /* DTR, RTS; OUT2 off: no IRQ to the PIC */
}

/* Set once THRE failed to appear within the bound: from then on bytes are written without
 * waiting, so a UART whose LSR is broken costs one timeout, not one per byte. */
static bool lsr_stuck;

void uart_putc(char c)
{
    for (int i = 0; !lsr_stuck && !(inb(COM1_BASE + UART_LSR) & UART_LSR_THRE); i++)
        if (i == UART_POLL_LIMIT)
            lsr_stuck = true;
    outb(COM1_BASE + UART_THR, (uint8_t)c);
}

void uart_flush(void)
{
    for (int i = 0; !lsr_stuck && !(inb(COM1_BASE + UART_LSR) & UART_LSR_TEMT); i++)
        if (i == UART_POLL_LIMIT)
            lsr_stuck = true;
}
