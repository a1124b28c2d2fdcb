/* Declarations of every device class listed in hw-classes.def. */
#ifndef HW_CLASSES_H
#define HW_CLASSES_H
#include "vireo/device.h"
#define DEVICE_CLASS(c) extern const DeviceClass c;
#include "hw-classes.def"
#undef DEVICE_CLASS
#endif
