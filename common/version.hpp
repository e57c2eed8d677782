#pragma once
#define HEAL_VERSION "0.1.0"
