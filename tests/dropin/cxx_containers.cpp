// C++ through crowd: operator new/delete (plain, array and over-aligned),
// standard containers that grow by reallocation-like copying, strings, an
// exception object (allocated by the C++ runtime with malloc) and
// shared_ptr control blocks.  Every result is checked against values
// computed independently of the containers.
//
// usage: cxx_containers EXPECTED_LIBRARY
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "expect_allocator.h"

namespace {

int failures = 0;

void check(bool ok, const char *what)
{
  if (!ok) {
    std::fprintf(stderr, "cxx_containers: %s\n", what);
    failures++;
  }
}

std::string item(int i)
{
  return "item-" + std::to_string(i) + std::string(i % 50, 'x');
}

size_t decimal_digits(int i)
{
  size_t n = 1;
  for (; i >= 10; i /= 10)
    n++;
  return n;
}

void vector_of_strings()
{
  const int n = 100000;
  std::vector<std::string> items;
  for (int i = 0; i < n; i++)
    items.push_back(item(i));
  size_t total = 0, expected = 0;
  for (int i = 0; i < n; i++) {
    total += items[i].size();
    expected += 5 + decimal_digits(i) + i % 50;
  }
  check(total == expected, "vector<string>: total length");
  check(items[12345] == "item-12345" + std::string(12345 % 50, 'x'), "vector<string>: item 12345");
  items.erase(items.begin(), items.begin() + n / 2);
  items.shrink_to_fit();
  check(items.front() == item(n / 2), "vector<string>: front after erase");
}

void ordered_and_hashed_maps()
{
  const int modulus = 10007; // prime: i * 7 % modulus covers every residue
  std::map<int, std::string> ordered;
  std::unordered_map<std::string, int> hashed;
  for (int i = 0; i < 50000; i++) {
    ordered[i * 7 % modulus] = item(i);
    hashed[item(i)] = i;
  }
  check(ordered.size() == static_cast<size_t>(modulus), "map: size");
  check(ordered.begin()->first == 0 && ordered.rbegin()->first == modulus - 1, "map: key range");
  check(hashed.size() == 50000, "unordered_map: size");
  check(hashed.at(item(31337)) == 31337, "unordered_map: lookup");
  for (int i = 0; i < 50000; i += 2)
    hashed.erase(item(i));
  check(hashed.size() == 25000, "unordered_map: size after erase");
}

struct alignas(256) Aligned {
  unsigned char bytes[300];
};

void new_and_delete()
{
  int *numbers = new int[1 << 20]; // 4 MiB: a huge block
  for (int i = 0; i < (1 << 20); i++)
    numbers[i] = i;
  long long sum = 0;
  for (int i = 0; i < (1 << 20); i++)
    sum += numbers[i];
  check(sum == (long long)(1 << 20) * ((1 << 20) - 1) / 2, "new[]: contents");
  delete[] numbers;

  Aligned *aligned = new Aligned[10]; // operator new[](size, align_val_t)
  check(reinterpret_cast<uintptr_t>(aligned) % 256 == 0, "over-aligned new[]: alignment");
  delete[] aligned;

  std::vector<std::unique_ptr<std::string>> owned;
  for (int i = 0; i < 20000; i++)
    owned.emplace_back(new std::string(item(i)));
  check(*owned[777] == item(777), "unique_ptr<string>");

  auto shared = std::make_shared<std::vector<int>>(1000, 7);
  std::shared_ptr<std::vector<int>> copy = shared;
  check(copy.use_count() == 2 && (*copy)[999] == 7, "shared_ptr");
}

void exceptions()
{
  int caught = 0;
  for (int i = 0; i < 1000; i++) {
    try {
      throw std::runtime_error(std::string(100 + i, 'e'));
    } catch (const std::runtime_error &e) {
      if (std::string(e.what()).size() == static_cast<size_t>(100 + i))
        caught++;
    }
  }
  check(caught == 1000, "exceptions");
}

} // namespace

int main(int argc, char **argv)
{
  expect_allocator(argc > 1 ? argv[1] : nullptr);
  vector_of_strings();
  ordered_and_hashed_maps();
  new_and_delete();
  exceptions();
  if (failures != 0)
    return 1;
  std::printf("cxx_containers: ok\n");
  return 0;
}
