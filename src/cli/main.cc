#include <exception>
#include <iostream>

#include "cli/commands.h"

int main(int argc, char** argv) {
  try {
    return lbmirror::cli::Main(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "lbmirror: " << e.what() << "\n";
    return 2;
  }
}
