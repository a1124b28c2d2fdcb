/*
 * DSDT of the vireo pc board (ACPI 6.3, 5.2.11.1), compiled by iasl at build time.
 *
 * hw/acpi/build.c patches the values marked PATCHED at run time. It finds each one by
 * its exact placeholder bytes, which must therefore stay unique in the AML:
 *  - the PCI0 _CRS memory windows (DWordMemory/QWordMemory with 0xA5A5... values),
 *  - the COM port presence names CM1S..CM4S (Name with a BytePrefix 0x0F value),
 *  - the _EJ0 method of each hot-plug slot S02..S1F (found by its body, PCEJ (slot)),
 *    renamed EJ0_ when the slot takes no hot-plug (it holds a built-in device, or
 *    hotplug is off): Linux offers eject for exactly the slots with an _EJ0.
 * Change a placeholder here and in build.c together; the unit test checks both.
 */
DefinitionBlock ("", "DSDT", 2, "VIREO", "VIREOPC", 1)
{
    /* \_S5: soft off. SLP_TYPa/b = 0 (ACPI 6.3, 7.4.2); hw/acpi/pm.c powers off. */
    Name (_S5, Package (0x04) { Zero, Zero, Zero, Zero })

    /* COM1..COM4 present (0x0F) or not (0): PATCHED. */
    Name (CM1S, 0x0F)
    Name (CM2S, 0x0F)
    Name (CM3S, 0x0F)
    Name (CM4S, 0x0F)

    /* ACPI PCI hotplug (hw/acpi/pcihp.c): GPE 1 says slots of bus 0 changed. */
    Scope (_GPE)
    {
        Name (_HID, "ACPI0006")
        Method (_E01, 0, NotSerialized)
        {
            \_SB.PCI0.PCNT ()
        }
    }

    Scope (_SB)
    {
        Device (PCI0)
        {
            Name (_HID, EisaId ("PNP0A03"))
            Name (_UID, Zero)
            Name (_BBN, Zero)

            /* Resources the host bridge decodes (ACPI 6.3, 6.4.3.5). */
            Name (_CRS, ResourceTemplate ()
            {
                WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,
                    0x0000, 0x0000, 0x00FF, 0x0000, 0x0100)
                IO (Decode16, 0x0CF8, 0x0CF8, 0x01, 0x08)
                WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
                    0x0000, 0x0000, 0x0CF7, 0x0000, 0x0CF8)
                WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
                    0x0000, 0x0D00, 0xFFFF, 0x0000, 0xF300)
                /* Legacy VGA window */
                DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable,
                    ReadWrite, 0x00000000, 0x000A0000, 0x000BFFFF, 0x00000000, 0x00020000)
                /* 32-bit MMIO window below 4 GiB: PATCHED */
                DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable,
                    ReadWrite, 0x00000000, 0xA5A5A000, 0xA5A5AFFF, 0x00000000, 0x00001000)
                /* 64-bit MMIO window above RAM: PATCHED */
                QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable,
                    ReadWrite, 0x0000000000000000, 0xA5A5A5A5A5A5A000, 0xA5A5A5A5A5A5AFFF,
                    0x0000000000000000, 0x0000000000001000)
            })

            /*
             * INTx routing (ACPI 6.3, 6.2.13): slot s, pin p (0 = INTA) is wired to
             * GSI 16 + ((s + p) & 3), level triggered, active low (hw/pci/bus.c).
             */
            Name (_PRT, Package (0x80)
            {
                Package () { 0x0000FFFF, 0, Zero, 16 }, Package () { 0x0000FFFF, 1, Zero, 17 },
                Package () { 0x0000FFFF, 2, Zero, 18 }, Package () { 0x0000FFFF, 3, Zero, 19 },
                Package () { 0x0001FFFF, 0, Zero, 17 }, Package () { 0x0001FFFF, 1, Zero, 18 },
                Package () { 0x0001FFFF, 2, Zero, 19 }, Package () { 0x0001FFFF, 3, Zero, 16 },
                Package () { 0x0002FFFF, 0, Zero, 18 }, Package () { 0x0002FFFF, 1, Zero, 19 },
                Package () { 0x0002FFFF, 2, Zero, 16 }, Package () { 0x0002FFFF, 3, Zero, 17 },
                Package () { 0x0003FFFF, 0, Zero, 19 }, Package () { 0x0003FFFF, 1, Zero, 16 },
                Package () { 0x0003FFFF, 2, Zero, 17 }, Package () { 0x0003FFFF, 3, Zero, 18 },
                Package () { 0x0004FFFF, 0, Zero, 16 }, Package () { 0x0004FFFF, 1, Zero, 17 },
                Package () { 0x0004FFFF, 2, Zero, 18 }, Package () { 0x0004FFFF, 3, Zero, 19 },
                Package () { 0x0005FFFF, 0, Zero, 17 }, Package () { 0x0005FFFF, 1, Zero, 18 },
                Package () { 0x0005FFFF, 2, Zero, 19 }, Package () { 0x0005FFFF, 3, Zero, 16 },
                Package () { 0x0006FFFF, 0, Zero, 18 }, Package () { 0x0006FFFF, 1, Zero, 19 },
                Package () { 0x0006FFFF, 2, Zero, 16 }, Package () { 0x0006FFFF, 3, Zero, 17 },
                Package () { 0x0007FFFF, 0, Zero, 19 }, Package () { 0x0007FFFF, 1, Zero, 16 },
                Package () { 0x0007FFFF, 2, Zero, 17 }, Package () { 0x0007FFFF, 3, Zero, 18 },
                Package () { 0x0008FFFF, 0, Zero, 16 }, Package () { 0x0008FFFF, 1, Zero, 17 },
                Package () { 0x0008FFFF, 2, Zero, 18 }, Package () { 0x0008FFFF, 3, Zero, 19 },
                Package () { 0x0009FFFF, 0, Zero, 17 }, Package () { 0x0009FFFF, 1, Zero, 18 },
                Package () { 0x0009FFFF, 2, Zero, 19 }, Package () { 0x0009FFFF, 3, Zero, 16 },
                Package () { 0x000AFFFF, 0, Zero, 18 }, Package () { 0x000AFFFF, 1, Zero, 19 },
                Package () { 0x000AFFFF, 2, Zero, 16 }, Package () { 0x000AFFFF, 3, Zero, 17 },
                Package () { 0x000BFFFF, 0, Zero, 19 }, Package () { 0x000BFFFF, 1, Zero, 16 },
                Package () { 0x000BFFFF, 2, Zero, 17 }, Package () { 0x000BFFFF, 3, Zero, 18 },
                Package () { 0x000CFFFF, 0, Zero, 16 }, Package () { 0x000CFFFF, 1, Zero, 17 },
                Package () { 0x000CFFFF, 2, Zero, 18 }, Package () { 0x000CFFFF, 3, Zero, 19 },
                Package () { 0x000DFFFF, 0, Zero, 17 }, Package () { 0x000DFFFF, 1, Zero, 18 },
                Package () { 0x000DFFFF, 2, Zero, 19 }, Package () { 0x000DFFFF, 3, Zero, 16 },
                Package () { 0x000EFFFF, 0, Zero, 18 }, Package () { 0x000EFFFF, 1, Zero, 19 },
                Package () { 0x000EFFFF, 2, Zero, 16 }, Package () { 0x000EFFFF, 3, Zero, 17 },
                Package () { 0x000FFFFF, 0, Zero, 19 }, Package () { 0x000FFFFF, 1, Zero, 16 },
                Package () { 0x000FFFFF, 2, Zero, 17 }, Package () { 0x000FFFFF, 3, Zero, 18 },
                Package () { 0x0010FFFF, 0, Zero, 16 }, Package () { 0x0010FFFF, 1, Zero, 17 },
                Package () { 0x0010FFFF, 2, Zero, 18 }, Package () { 0x0010FFFF, 3, Zero, 19 },
                Package () { 0x0011FFFF, 0, Zero, 17 }, Package () { 0x0011FFFF, 1, Zero, 18 },
                Package () { 0x0011FFFF, 2, Zero, 19 }, Package () { 0x0011FFFF, 3, Zero, 16 },
                Package () { 0x0012FFFF, 0, Zero, 18 }, Package () { 0x0012FFFF, 1, Zero, 19 },
                Package () { 0x0012FFFF, 2, Zero, 16 }, Package () { 0x0012FFFF, 3, Zero, 17 },
                Package () { 0x0013FFFF, 0, Zero, 19 }, Package () { 0x0013FFFF, 1, Zero, 16 },
                Package () { 0x0013FFFF, 2, Zero, 17 }, Package () { 0x0013FFFF, 3, Zero, 18 },
                Package () { 0x0014FFFF, 0, Zero, 16 }, Package () { 0x0014FFFF, 1, Zero, 17 },
                Package () { 0x0014FFFF, 2, Zero, 18 }, Package () { 0x0014FFFF, 3, Zero, 19 },
                Package () { 0x0015FFFF, 0, Zero, 17 }, Package () { 0x0015FFFF, 1, Zero, 18 },
                Package () { 0x0015FFFF, 2, Zero, 19 }, Package () { 0x0015FFFF, 3, Zero, 16 },
                Package () { 0x0016FFFF, 0, Zero, 18 }, Package () { 0x0016FFFF, 1, Zero, 19 },
                Package () { 0x0016FFFF, 2, Zero, 16 }, Package () { 0x0016FFFF, 3, Zero, 17 },
                Package () { 0x0017FFFF, 0, Zero, 19 }, Package () { 0x0017FFFF, 1, Zero, 16 },
                Package () { 0x0017FFFF, 2, Zero, 17 }, Package () { 0x0017FFFF, 3, Zero, 18 },
                Package () { 0x0018FFFF, 0, Zero, 16 }, Package () { 0x0018FFFF, 1, Zero, 17 },
                Package () { 0x0018FFFF, 2, Zero, 18 }, Package () { 0x0018FFFF, 3, Zero, 19 },
                Package () { 0x0019FFFF, 0, Zero, 17 }, Package () { 0x0019FFFF, 1, Zero, 18 },
                Package () { 0x0019FFFF, 2, Zero, 19 }, Package () { 0x0019FFFF, 3, Zero, 16 },
                Package () { 0x001AFFFF, 0, Zero, 18 }, Package () { 0x001AFFFF, 1, Zero, 19 },
                Package () { 0x001AFFFF, 2, Zero, 16 }, Package () { 0x001AFFFF, 3, Zero, 17 },
                Package () { 0x001BFFFF, 0, Zero, 19 }, Package () { 0x001BFFFF, 1, Zero, 16 },
                Package () { 0x001BFFFF, 2, Zero, 17 }, Package () { 0x001BFFFF, 3, Zero, 18 },
                Package () { 0x001CFFFF, 0, Zero, 16 }, Package () { 0x001CFFFF, 1, Zero, 17 },
                Package () { 0x001CFFFF, 2, Zero, 18 }, Package () { 0x001CFFFF, 3, Zero, 19 },
                Package () { 0x001DFFFF, 0, Zero, 17 }, Package () { 0x001DFFFF, 1, Zero, 18 },
                Package () { 0x001DFFFF, 2, Zero, 19 }, Package () { 0x001DFFFF, 3, Zero, 16 },
                Package () { 0x001EFFFF, 0, Zero, 18 }, Package () { 0x001EFFFF, 1, Zero, 19 },
                Package () { 0x001EFFFF, 2, Zero, 16 }, Package () { 0x001EFFFF, 3, Zero, 17 },
                Package () { 0x001FFFFF, 0, Zero, 19 }, Package () { 0x001FFFFF, 1, Zero, 16 },
                Package () { 0x001FFFFF, 2, Zero, 17 }, Package () { 0x001FFFFF, 3, Zero, 18 }
            })

            /*
             * PCI hotplug of bus 0 (QEMU's interface, hw/acpi/pcihp.c): UP and DOWN
             * name slots whose device arrived / is to be removed (reading UP clears
             * it), a slot bit written to EJ removes the slot's devices, BSEL selects
             * the bus (0). Slot 1 is the PIIX's and takes none.
             */
            OperationRegion (PCST, SystemIO, 0xAE00, 0x18)
            Field (PCST, DWordAcc, NoLock, WriteAsZeros)
            {
                PCIU,   32,
                PCID,   32,
                B0EJ,   32,
                PCRM,   32,
                BNUM,   32
            }
            Mutex (BLCK, 0x00)

            /* _EJ0 of slot Arg0 (ACPI 6.3, 6.3.3). */
            Method (PCEJ, 1, NotSerialized)
            {
                Acquire (BLCK, 0xFFFF)
                BNUM = Zero
                B0EJ = (One << Arg0)
                Release (BLCK)
            }

            /* GPE 1: Notify 1 (device check) for arrivals, 3 (eject request) for
             * removals (ACPI 6.3, 5.6.6). */
            Method (PCNT, 0, NotSerialized)
            {
                Acquire (BLCK, 0xFFFF)
                BNUM = Zero
                DVNT (PCIU, One)
                DVNT (PCID, 0x03)
                Release (BLCK)
            }

            Method (DVNT, 2, NotSerialized)
            {
                If ((Arg0 & 0x00000004)) { Notify (S02, Arg1) }
                If ((Arg0 & 0x00000008)) { Notify (S03, Arg1) }
                If ((Arg0 & 0x00000010)) { Notify (S04, Arg1) }
                If ((Arg0 & 0x00000020)) { Notify (S05, Arg1) }
                If ((Arg0 & 0x00000040)) { Notify (S06, Arg1) }
                If ((Arg0 & 0x00000080)) { Notify (S07, Arg1) }
                If ((Arg0 & 0x00000100)) { Notify (S08, Arg1) }
                If ((Arg0 & 0x00000200)) { Notify (S09, Arg1) }
                If ((Arg0 & 0x00000400)) { Notify (S0A, Arg1) }
                If ((Arg0 & 0x00000800)) { Notify (S0B, Arg1) }
                If ((Arg0 & 0x00001000)) { Notify (S0C, Arg1) }
                If ((Arg0 & 0x00002000)) { Notify (S0D, Arg1) }
                If ((Arg0 & 0x00004000)) { Notify (S0E, Arg1) }
                If ((Arg0 & 0x00008000)) { Notify (S0F, Arg1) }
                If ((Arg0 & 0x00010000)) { Notify (S10, Arg1) }
                If ((Arg0 & 0x00020000)) { Notify (S11, Arg1) }
                If ((Arg0 & 0x00040000)) { Notify (S12, Arg1) }
                If ((Arg0 & 0x00080000)) { Notify (S13, Arg1) }
                If ((Arg0 & 0x00100000)) { Notify (S14, Arg1) }
                If ((Arg0 & 0x00200000)) { Notify (S15, Arg1) }
                If ((Arg0 & 0x00400000)) { Notify (S16, Arg1) }
                If ((Arg0 & 0x00800000)) { Notify (S17, Arg1) }
                If ((Arg0 & 0x01000000)) { Notify (S18, Arg1) }
                If ((Arg0 & 0x02000000)) { Notify (S19, Arg1) }
                If ((Arg0 & 0x04000000)) { Notify (S1A, Arg1) }
                If ((Arg0 & 0x08000000)) { Notify (S1B, Arg1) }
                If ((Arg0 & 0x10000000)) { Notify (S1C, Arg1) }
                If ((Arg0 & 0x20000000)) { Notify (S1D, Arg1) }
                If ((Arg0 & 0x40000000)) { Notify (S1E, Arg1) }
                If ((Arg0 & 0x80000000)) { Notify (S1F, Arg1) }
            }

            /* The hotplug registers (the GPE0 block is the FADT's). */
            Device (PHPR)
            {
                Name (_HID, EisaId ("PNP0C02"))
                Name (_UID, 0x02)
                Name (_CRS, ResourceTemplate ()
                {
                    IO (Decode16, 0xAE00, 0xAE00, 0x01, 0x18)
                })
            }

            Device (S02)
            {
                Name (_ADR, 0x00020000)
                Name (_SUN, 0x02)
                Method (_EJ0, 1, NotSerialized) { PCEJ (0x02) }
            }
            Device (S03)
            {
                Name (_ADR, 0x00030000)
                Name (_SUN, 0x03)
                Method (_EJ0, 1, NotSerialized) { PCEJ (0x03) }
            }
            Device (S04)
            {
                Name (_ADR, 0x00040000)
                Name (_SUN, 0x04)
                Method (_EJ0, 1, NotSerialized) { PCEJ (0x04) }
            }
            Device (S05)
            {
                Name (_ADR, 0x00050000)
                Name (_SUN, 0x05)
                Method (_EJ0, 1, NotSerialized) { PCEJ (0x05) }
            }
            Device (S06)
            {
                Name (_ADR, 0x00060000)
                Name (_SUN, 0x06)
                Method (_EJ0, 1, NotSerialized) { PCEJ (0x06) }
            }
            Device (S07)
            {
                Name (_ADR, 0x00070000)
                Name (_SUN, 0x07)
                Method (_EJ0, 1, NotSerialized) { PCEJ (0x07) }
            }
            Device (S08)
            {
                Name (_ADR, 0x00080000)
                Name (_SUN, 0x08)
                Method (_EJ0, 1, NotSerialized) { PCEJ (0x08) }
            }
            Device (S09)
            {
                Name (_ADR, 0x00090000)
                Name (_SUN, 0x09)
                Method (_EJ0, 1, NotSerialized) { PCEJ (0x09) }
            }
            Device (S0A)
            {
                Name (_ADR, 0x000A0000)
                Name (_SUN, 0x0A)
                Method (_EJ0, 1, NotSerialized) { PCEJ (0x0A) }
            }
            Device (S0B)
            {
                Name (_ADR, 0x000B0000)
                Name (_SUN, 0x0B)
                Method (_EJ0, 1, NotSerialized) { PCEJ (0x0B) }
            }
            Device (S0C)
            {
                Name (_ADR, 0x000C0000)
                Name (_SUN, 0x0C)
                Method (_EJ0, 1, NotSerialized) { PCEJ (0x0C) }
            }
            Device (S0D)
            {
                Name (_ADR, 0x000D0000)
                Name (_SUN, 0x0D)
                Method (_EJ0, 1, NotSerialized) { PCEJ (0x0D) }
            }
            Device (S0E)
            {
                Name (_ADR, 0x000E0000)
                Name (_SUN, 0x0E)
                Method (_EJ0, 1, NotSerialized) { PCEJ (0x0E) }
            }
            Device (S0F)
            {
                Name (_ADR, 0x000F0000)
                Name (_SUN, 0x0F)
                Method (_EJ0, 1, NotSerialized) { PCEJ (0x0F) }
            }
            Device (S10)
            {
                Name (_ADR, 0x00100000)
                Name (_SUN, 0x10)
                Method (_EJ0, 1, NotSerialized) { PCEJ (0x10) }
            }
            Device (S11)
            {
                Name (_ADR, 0x00110000)
                Name (_SUN, 0x11)
                Method (_EJ0, 1, NotSerialized) { PCEJ (0x11) }
            }
            Device (S12)
            {
                Name (_ADR, 0x00120000)
                Name (_SUN, 0x12)
                Method (_EJ0, 1, NotSerialized) { PCEJ (0x12) }
            }
            Device (S13)
            {
                Name (_ADR, 0x00130000)
                Name (_SUN, 0x13)
                Method (_EJ0, 1, NotSerialized) { PCEJ (0x13) }
            }
            Device (S14)
            {
                Name (_ADR, 0x00140000)
                Name (_SUN, 0x14)
                Method (_EJ0, 1, NotSerialized) { PCEJ (0x14) }
            }
            Device (S15)
            {
                Name (_ADR, 0x00150000)
                Name (_SUN, 0x15)
                Method (_EJ0, 1, NotSerialized) { PCEJ (0x15) }
            }
            Device (S16)
            {
                Name (_ADR, 0x00160000)
                Name (_SUN, 0x16)
                Method (_EJ0, 1, NotSerialized) { PCEJ (0x16) }
            }
            Device (S17)
            {
                Name (_ADR, 0x00170000)
                Name (_SUN, 0x17)
                Method (_EJ0, 1, NotSerialized) { PCEJ (0x17) }
            }
            Device (S18)
            {
                Name (_ADR, 0x00180000)
                Name (_SUN, 0x18)
                Method (_EJ0, 1, NotSerialized) { PCEJ (0x18) }
            }
            Device (S19)
            {
                Name (_ADR, 0x00190000)
                Name (_SUN, 0x19)
                Method (_EJ0, 1, NotSerialized) { PCEJ (0x19) }
            }
            Device (S1A)
            {
                Name (_ADR, 0x001A0000)
                Name (_SUN, 0x1A)
                Method (_EJ0, 1, NotSerialized) { PCEJ (0x1A) }
            }
            Device (S1B)
            {
                Name (_ADR, 0x001B0000)
                Name (_SUN, 0x1B)
                Method (_EJ0, 1, NotSerialized) { PCEJ (0x1B) }
            }
            Device (S1C)
            {
                Name (_ADR, 0x001C0000)
                Name (_SUN, 0x1C)
                Method (_EJ0, 1, NotSerialized) { PCEJ (0x1C) }
            }
            Device (S1D)
            {
                Name (_ADR, 0x001D0000)
                Name (_SUN, 0x1D)
                Method (_EJ0, 1, NotSerialized) { PCEJ (0x1D) }
            }
            Device (S1E)
            {
                Name (_ADR, 0x001E0000)
                Name (_SUN, 0x1E)
                Method (_EJ0, 1, NotSerialized) { PCEJ (0x1E) }
            }
            Device (S1F)
            {
                Name (_ADR, 0x001F0000)
                Name (_SUN, 0x1F)
                Method (_EJ0, 1, NotSerialized) { PCEJ (0x1F) }
            }

            /* PIIX3 PCI-to-ISA bridge at 01.0 and the ISA devices behind it. */
            Device (ISA)
            {
                Name (_ADR, 0x00010000)

                Device (COM1)
                {
                    Name (_HID, EisaId ("PNP0501"))
                    Name (_UID, One)
                    Method (_STA, 0, NotSerialized) { Return (CM1S) }
                    Name (_CRS, ResourceTemplate ()
                    {
                        IO (Decode16, 0x03F8, 0x03F8, 0x00, 0x08)
                        IRQNoFlags () {4}
                    })
                }
                Device (COM2)
                {
                    Name (_HID, EisaId ("PNP0501"))
                    Name (_UID, 0x02)
                    Method (_STA, 0, NotSerialized) { Return (CM2S) }
                    Name (_CRS, ResourceTemplate ()
                    {
                        IO (Decode16, 0x02F8, 0x02F8, 0x00, 0x08)
                        IRQNoFlags () {3}
                    })
                }
                Device (COM3)
                {
                    Name (_HID, EisaId ("PNP0501"))
                    Name (_UID, 0x03)
                    Method (_STA, 0, NotSerialized) { Return (CM3S) }
                    Name (_CRS, ResourceTemplate ()
                    {
                        IO (Decode16, 0x03E8, 0x03E8, 0x00, 0x08)
                        IRQNoFlags () {4}
                    })
                }
                Device (COM4)
                {
                    Name (_HID, EisaId ("PNP0501"))
                    Name (_UID, 0x04)
                    Method (_STA, 0, NotSerialized) { Return (CM4S) }
                    Name (_CRS, ResourceTemplate ()
                    {
                        IO (Decode16, 0x02E8, 0x02E8, 0x00, 0x08)
                        IRQNoFlags () {3}
                    })
                }

                /* MC146818 CMOS RTC */
                Device (RTC)
                {
                    Name (_HID, EisaId ("PNP0B00"))
                    Name (_CRS, ResourceTemplate ()
                    {
                        IO (Decode16, 0x0070, 0x0070, 0x01, 0x02)
                        IRQNoFlags () {8}
                    })
                }

                /* i8042 keyboard controller: keyboard and PS/2 mouse */
                Device (KBD)
                {
                    Name (_HID, EisaId ("PNP0303"))
                    Name (_CRS, ResourceTemplate ()
                    {
                        IO (Decode16, 0x0060, 0x0060, 0x01, 0x01)
                        IO (Decode16, 0x0064, 0x0064, 0x01, 0x01)
                        IRQNoFlags () {1}
                    })
                }
                Device (MOU)
                {
                    Name (_HID, EisaId ("PNP0F13"))
                    Name (_CRS, ResourceTemplate ()
                    {
                        IRQNoFlags () {12}
                    })
                }

                /* Motherboard resources: the ACPI PM block (hw/acpi/pm.c) */
                Device (PMRS)
                {
                    Name (_HID, EisaId ("PNP0C02"))
                    Name (_UID, One)
                    Name (_CRS, ResourceTemplate ()
                    {
                        IO (Decode16, 0x0600, 0x0600, 0x01, 0x0C)
                    })
                }
            }
        }
    }
}
