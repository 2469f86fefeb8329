/// Shared memory: System V segments, POSIX objects, mappings, and the memory accesses the lab
/// records (not system calls: `store`, `load`… show what moved where).
public enum SharedMemoryCall: String, CallTable {
    case mmap, munmap, mknod, ftok, shmget, shmat, shmdt, shmctl
    case shmOpen = "shm_open", ftruncate, shmUnlink = "shm_unlink"
    case store, load, storeInt = "store_int", loadInt = "load_int", storePointer = "store_pointer"
    case processVmReadv = "process_vm_readv", atomicFetchAdd = "atomic_fetch_add"
    case schedSetaffinity = "sched_setaffinity", barrier, increment

    public var spec: CallSpec {
        let f = CallFamily.sharedMemory
        let access: [CallArgument] = [.address(.base), .integer(.offset)]
        return switch self {
        case .mmap:
            call(f, [.address(.addr), .integer(.length), .flags(.prot), .flags(.flags), .integer(.fd), .integer(.offset), .channel,
                     .address(.mapped, .optional("the mapping succeeded: the bytes it covers"))],
                 "mmap(2): maps a region into this process, where the kernel chooses unless addr is given.")
        case .munmap: call(f, [.address(.addr), .integer(.length), .channel], "munmap(2): removes this process's mapping.")
        case .mknod: call(f, [.string(.path), .flags(.mode), .channel], "mknod(2): makes the file ftok names a key after.")
        case .ftok:
            call(f, [.string(.path), .integer(.projId), .channel, .address(.key, .optional("ftok succeeded"))],
                 "ftok(3): a System V key made from a file's inode and a project id.")
        case .shmget:
            call(f, [.address(.key), .integer(.size), .flags(.shmflg), .channel], "shmget(2): finds or makes the System V segment of a key.")
        case .shmat:
            call(f, [.integer(.shmid), .address(.shmaddr), .integer(.shmflg), .channel,
                     .address(.attachedAt, .optional("shmat succeeded"))], "shmat(2): attaches a System V segment to this process.")
        case .shmdt: call(f, [.address(.shmaddr), .channel], "shmdt(2): detaches a System V segment.")
        case .shmctl: call(f, [.integer(.shmid), .flags(.cmd), .channel], "shmctl(2) IPC_RMID: marks a segment for removal after its last detach.")
        case .shmOpen:
            call(f, [.string(.name), .flags(.oflag), .flags(.mode), .channel], "shm_open(3): opens a POSIX shared-memory object by name.")
        case .ftruncate: call(f, [.integer(.fd), .integer(.length), .channel], "ftruncate(2): gives a POSIX object its size.")
        case .shmUnlink: call(f, [.string(.name), .channel], "shm_unlink(3): removes a POSIX object's name.")
        case .store:
            call(f, access + [.integer(.count), .channel], moves: .sends, "A store of count bytes at base+offset (memcpy into the region).")
        case .load:
            call(f, access + [.integer(.count), .channel], moves: .receives, "A load of count bytes from base+offset.")
        case .storeInt: call(f, access + [.integer(.value), .channel], "An 8-byte store of value at base+offset.")
        case .loadInt: call(f, access + [.integer(.value), .channel], "An 8-byte load at base+offset; value is what it found.")
        case .storePointer:
            call(f, access + [.integer(.value), .address(.pointsTo), .integer(.targetOffset), .channel],
                 "Stores this process's address of base+target_offset at base+offset.")
        case .processVmReadv:
            call(f, [.integer(.pid), .address(.address), .integer(.count), .init(.inOwnMapping, .boolean), .address(.ownMapping), .channel],
                 moves: .receives, "process_vm_readv(2) on this process: reads what a loaded pointer points to.")
        case .atomicFetchAdd:
            call(f, access + [.integer(.value), .integer(.old), .channel], "An atomic fetch-and-add of 1; old is the value it replaced.")
        case .schedSetaffinity:
            call(f, [.integer(.pid), .init(.cpu, .integer, .nullable("no CPU could be chosen")), .integer(.arrival)],
                 "sched_setaffinity(2): the n-th process to reach a barrier takes the n-th CPU.")
        case .barrier:
            call(f, access + [.integer(.count), .channel, .integer(.arrival, .optional("EPROTO: the arrival read from the shared count was outside 1…count"))],
                 blocks: true, "Waits at a counter in the region until count processes arrived.")
        case .increment:
            call(f, access + [.integer(.iterations), .string(.sync), .channel, .init(.semaphore, .channel, .optional("sync is semaphore")),
                              .integer(.firstLoaded, .optional("it ran")), .integer(.lastStored, .optional("it ran"))],
                 blocks: true, "Increments a counter in the region iterations times: unsynchronised, atomically, or under a semaphore.")
        }
    }
}

/// Semaphores: POSIX named and unnamed, and System V sets (semaphore 0 of each).
public enum SemaphoreCall: String, CallTable {
    case semOpen = "sem_open", semInit = "sem_init", semget, semctl
    case semWait = "sem_wait", semTrywait = "sem_trywait", semPost = "sem_post", semop
    case semClose = "sem_close", semDestroy = "sem_destroy", semUnlink = "sem_unlink"

    public var spec: CallSpec {
        let f = CallFamily.semaphores
        let posix: [CallArgument] = [.address(.sem), .integer(.valueBefore), .channel]
        return switch self {
        case .semOpen:
            call(f, [.string(.name), .flags(.oflag), .flags(.mode), .integer(.value), .channel, .address(.sem, .optional("sem_open succeeded"))],
                 "sem_open(3): opens (or makes, with value) a named POSIX semaphore.")
        case .semInit:
            call(f, [.address(.sem), .integer(.pshared), .integer(.value), .channel], "sem_init(3): an unnamed semaphore in shared memory.")
        case .semget:
            call(f, [.address(.key), .integer(.nsems), .flags(.semflg), .channel], "semget(2): finds or makes a System V semaphore set.")
        case .semctl:
            call(f, [.integer(.semid), .integer(.semnum), .flags(.cmd), .integer(.value, .optional("cmd is SETVAL")), .channel],
                 "semctl(2): SETVAL sets a semaphore's value; IPC_RMID removes the set.")
        case .semWait:
            call(f, posix, blocks: true, "sem_wait(3), P: decrements the value, sleeping while it is 0.")
        case .semTrywait: call(f, posix, "sem_trywait(3): decrements the value, or fails with EAGAIN at 0.")
        case .semPost: call(f, posix, "sem_post(3), V: increments the value, waking one waiter.")
        case .semop:
            call(f, [.integer(.semid), .integer(.semNum), .integer(.semOp), .flags(.semFlg), .integer(.valueBefore), .channel], blocks: true,
                 "semop(2) on semaphore 0: -1 waits (P), +1 posts (V), 0 waits for zero.")
        case .semClose: call(f, [.address(.sem), .channel], "sem_close(3): closes this process's named semaphore.")
        case .semDestroy: call(f, [.address(.sem), .channel], "sem_destroy(3): ends an unnamed semaphore.")
        case .semUnlink: call(f, [.string(.name), .channel], "sem_unlink(3): removes a named semaphore's name.")
        }
    }
}
