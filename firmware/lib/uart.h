/* Polled COM1 (16550A at 0x3f8) output; the guest never takes serial interrupts. */
#ifndef GUEST_UART_H
#define GUEST_UART_H

#include <stdint.h>

#define COM1_BASE 0x3f8
/* 16550 register offsets (PC16550D datasheet, table II); DLAB = LCR bit 7. */
#define UART_RBR 0  /* read, DLAB=0 */
#define UART_THR 0  /* write, DLAB=0 */
#define UART_DLL 0  /* DLAB=1 */
#define UART_IER 1  /* DLAB=0 */
#define UART_DLM 1  /* DLAB=1 */
#define UART_IIR 2  /* read */
#define UART_FCR 2  /* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define UART_LCR_DLAB 0x80
#define UART_LSR_DR   0x01
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40
#define UART_MCR_LOOP 0x10

/* Programs 115200 8N1, FIFOs on, interrupts off. */
void uart_init(void);
/* Sends one byte; waits (boundedly) for THRE first so a missing UART cannot hang us. */
void uart_putc(char c);
/* Waits (boundedly) until the transmitter is empty (LSR.TEMT). */
void uart_flush(void);

#endif
