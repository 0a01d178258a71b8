/* tiler.c: being written */
#include "srgan/model.h"
